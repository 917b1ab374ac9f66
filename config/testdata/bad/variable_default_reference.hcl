locals { x = "a" }

variable "v" {
  default = local.x # ERROR: Variables not allowed
}
