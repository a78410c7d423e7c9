// BridgeCore: implementation lands with its issue.
