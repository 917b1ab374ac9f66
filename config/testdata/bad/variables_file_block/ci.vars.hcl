a = "x"
variable "b" {} # ERROR: Unexpected block in variables file
