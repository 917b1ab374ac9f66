variable "token" {
  sensitive = "yes" # ERROR: Incorrect attribute value type
  default   = ""
}
