"""Everything that talks to the outside: boto3 clients, the DynamoDB store and its records,
S3 ranged reads, the LRS's SOAP transport. A botocore exception never leaves an adapter."""
