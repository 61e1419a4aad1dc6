"""The network side: TCP/TLS transport with deadlines, A-ASSOCIATE negotiation, the PS3.8
requestor state machine."""
