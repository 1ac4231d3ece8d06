-- wrk script: POST /api/users with a new email on every request (a prefix per run, so no round repeats an address).
-- Usage: wrk -s signup.lua URL -- PREFIX
local prefix, counter = "run", 0
function init(args)
  prefix = (args[1] or "run") .. "-" .. tostring(math.random(1, 1e9))
end
function request()
  counter = counter + 1
  local body = string.format('{"name":"Bench %d","email":"%s-%d@example.com"}', counter, prefix, counter)
  return wrk.format("POST", "/api/users", { ["Content-Type"] = "application/json" }, body)
end
