-- A vulnerability scanner's traffic: random paths and methods that match no route. It stops itself after
-- SCANNER_REQUESTS responses (wrk's -d is only the upper bound). Run with one wrk thread (-t1) so the count is exact.
-- HEAD is left out: wrk does not know a HEAD response has no body and would wait for one.
local limit = tonumber(os.getenv("SCANNER_REQUESTS") or "100000")
local count = 0
local methods = { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "BREW" }

math.randomseed(os.time())

request = function()
  local path = string.format("/%08x/%d/wp-admin%d.php?id=%x",
    math.random(0, 0x7fffffff), math.random(1, 1000000000), count, math.random(0, 0x7fffffff))
  return wrk.format(methods[math.random(#methods)], path)
end

response = function(status, headers, body)
  count = count + 1
  if count >= limit then
    wrk.thread:stop()
  end
end
