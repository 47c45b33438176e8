"""The Tableside hub: the thin cloud service (link consumer, operator API, later payments).

It imports `contract` and nothing else of ours; all it shares with the agent is the contract.
"""
