variable "x" { default = "a" }

exec "b" {
  command    = ["true"]
  depends_on = [var.x] # ERROR: Invalid depends_on reference
}
