"""The rules of the service. Plain Python: no boto3, pynamodb or powertools here."""
