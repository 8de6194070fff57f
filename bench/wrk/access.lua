-- POST /v1/access with events varying over accounts, devices, device types and
-- addresses (10,000 accounts x 4 devices, addresses from two /16s). The API key comes
-- from the BENCH_KEY environment variable. Every event carries a unique "id"
-- (so the applied-id insert is measured too) unless BENCH_IDS=0.
--
-- wrk runs this on the same cores as the server, and /healthz, the endpoint access
-- is compared with, is a request wrk prepares once. So request() does as little as
-- it can: the timestamp is made once a second and the request's head once, instead
-- of through wrk.format's table of headers each time; and nothing is kept per account,
-- since every string kept is one more for Lua's collector to mark in each cycle
-- (BENCHMARKS.md, session 19).
local types = {"tv", "mobile", "tablet", "computer"}
local kinds = {"playback", "playback", "playback", "heartbeat", "sign_in"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  ids = os.getenv("BENCH_IDS") ~= "0"
  run = tostring(os.time())
  n = 0
  kind_part = {}
  for i, k in ipairs(kinds) do kind_part[i] = '","kind":"' .. k .. '"' end
  head = "POST /v1/access HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\ncontent-type: application/json\r\nauthorization: Bearer " .. os.getenv("BENCH_KEY") ..
    "\r\nContent-Length: "
  second, ts_part = -1, ""
end

function request()
  local a = math.random(1, 10000)
  local d = math.random(1, 4)
  -- Mostly the account's home address, sometimes elsewhere.
  local ip
  if math.random() < 0.8 then
    ip = "198.51." .. a % 256 .. "." .. math.floor(a / 256) % 256
  else
    ip = "203.0." .. math.random(0, 255) .. "." .. math.random(1, 254)
  end
  local now = os.time()
  if now ~= second then
    second = now
    ts_part = ',"ts":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", now) .. '"'
  end
  local id = ""
  if ids then
    n = n + 1
    id = ',"id":"' .. run .. "-" .. tid .. "-" .. n .. '"'
  end
  local body = '{"account":"bench-' .. a .. '","device":"d-' .. d .. '","device_type":"' ..
    types[d] .. '","ip":"' .. ip .. kind_part[math.random(1, #kinds)] .. id .. ts_part .. "}"
  return head .. #body .. "\r\n\r\n" .. body
end
