module "api" {
  source = "./modules/svc"
}
exec "use" {
  command = ["echo", module.api.imag] # ERROR: Reference to undeclared module output
}
output "x" { value = module.nope.image } # ERROR: Reference to undeclared module
