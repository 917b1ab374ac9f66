# moved blocks whose addresses are wrong on their own.
moved {
  from = "exec.a" # ERROR: Invalid moved address
  to   = exec.b
}

moved {
  from = exec.c
  to   = exec.c # ERROR: Redundant moved block
}

moved {
  from = exec.d
  to   = docker_build.d # ERROR: A step cannot change its type
}

moved {
  from = module.m
  to   = exec.m # ERROR: Invalid moved block
}

moved {
  from = exec.h[0] # ERROR: Invalid moved address
  to   = exec.q
}

moved {
  from = exec # ERROR: Invalid moved address
  to   = exec.q
}

moved { # ERROR: Missing required argument
  to = exec.q
}

moved {
  from  = exec.r
  to    = exec.s
  force = true # ERROR: Unsupported argument
}
