replicas = "many" # ERROR: Invalid value for variable
