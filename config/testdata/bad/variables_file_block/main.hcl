variable "a" { default = "" }
