tag = "v1"
