ansflow {
  backend "local" {}
  backend "kubernetes" {} # ERROR: Duplicate backend block
}
