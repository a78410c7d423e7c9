// HTTPTransport: implementation lands with its issue.
