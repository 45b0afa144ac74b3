"""Backorders: the shared package of every Lambda function (deployed as a layer).

- ``backorders.domain``: the rules, plain Python, no AWS imports.
- ``backorders.services``: use cases; talk to a unit of work, never to a table.
- ``backorders.adapters``: DynamoDB (pynamodb), Secrets Manager, SES.
- ``backorders.config``: typed settings read from the environment once.
- ``backorders.bootstrap``: the composition root that wires real adapters.
"""
