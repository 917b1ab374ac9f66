exec "prep" { command = ["true"] }
module "svc" {
  source   = "./modules/svc"
  for_each = exec.prep.stdout # ERROR: Invalid for_each argument
}
module "one" {
  source = "./modules/svc"
}
exec "use" {
  command = [module.one["a"].x] # ERROR: Unexpected instance key
}
