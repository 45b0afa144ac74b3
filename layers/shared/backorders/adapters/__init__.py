"""Everything that talks to AWS. Services reach these only through the composition root."""
