"""DynamoDB adapters: one table for companies, rows, keys and registries; ``items`` owns every key format."""
