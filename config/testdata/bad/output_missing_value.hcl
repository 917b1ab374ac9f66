output "image" { # ERROR: Missing required argument
  description = "The image"
}
