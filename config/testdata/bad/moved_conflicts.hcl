# moved blocks that contradict each other or the steps.
exec "kept" {
  command = ["true"]
}

moved {
  from = exec.kept # ERROR: Moved step still exists
  to   = exec.renamed
}

moved {
  from = exec.e
  to   = exec.f
}

moved {
  from = exec.e # ERROR: Duplicate moved block
  to   = exec.g
}

moved { # ERROR: Cyclic moved blocks
  from = exec.x
  to   = exec.y
}

moved {
  from = exec.y
  to   = exec.z
}

moved {
  from = exec.z
  to   = exec.x
}
