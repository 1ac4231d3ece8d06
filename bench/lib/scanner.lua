-- A vulnerability scanner's traffic: random paths and methods that match no route. bench/run.sh stops wrk once the
-- app's own http_requests_total{route="unmatched"} has grown by the batch size (wrk itself can only stop on time).
-- HEAD is left out: wrk does not know a HEAD response has no body and would wait for one.
local methods = { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "BREW" }
local count = 0

math.randomseed(os.time())

request = function()
  count = count + 1
  local path = string.format("/%08x/%d/wp-admin%d.php?id=%x",
    math.random(0, 0x7fffffff), math.random(1, 1000000000), count, math.random(0, 0x7fffffff))
  return wrk.format(methods[math.random(#methods)], path)
end
