"""DynamoDB adapters of the storage ports, on one table (schema in ``table``).

Importing this package imports botocore (not boto3): callers build the client once per container
and inject it.
"""

from progress.adapters.dynamodb.migrations import CURRENT_VERSION, BackfillStats, backfill
from progress.adapters.dynamodb.statements import DynamoStatementStore
from progress.adapters.dynamodb.table import create_table
from progress.adapters.dynamodb.tenants import DynamoTenantStore

__all__ = [
    "CURRENT_VERSION",
    "BackfillStats",
    "DynamoStatementStore",
    "DynamoTenantStore",
    "backfill",
    "create_table",
]
