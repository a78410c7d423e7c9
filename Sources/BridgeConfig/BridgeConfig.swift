// BridgeConfig: implementation lands with its issue.
