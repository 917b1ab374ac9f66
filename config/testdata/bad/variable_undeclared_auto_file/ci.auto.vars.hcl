tag = "v1"
tga = "v2" # ERROR: Value for undeclared variable
