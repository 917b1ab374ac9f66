variable "passwords" {
  type    = list(string)
  default = ["a"]
}

registry "main" {
  address  = "127.0.0.1:5000"
  password = var.passwords # ERROR: Incorrect attribute value type
}
