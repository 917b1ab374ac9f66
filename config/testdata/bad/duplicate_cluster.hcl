cluster "dev" {}
cluster "dev" {} # ERROR: Duplicate cluster
