// SocketTransport: implementation lands with its issue.
