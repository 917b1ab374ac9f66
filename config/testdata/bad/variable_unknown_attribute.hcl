variable "tag" {
  defualt = "dev" # ERROR: Unsupported argument
}
