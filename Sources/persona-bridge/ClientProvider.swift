import ModelClient

// This file imports ModelClient alone: the module's `ModelClient` class shadows the module name, so
// `ModelClient.ModelProvider` cannot be written where BridgeConfig's `ModelProvider` is also visible.

/// The model client's provider type.
typealias ClientModelProvider = ModelProvider
