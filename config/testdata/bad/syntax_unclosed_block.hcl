docker_build "app" { # ERROR: Unclosed configuration block
  image = "x"
