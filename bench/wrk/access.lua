-- POST /v1/access with events varying over accounts, devices, device types and
-- addresses (10,000 accounts x 4 devices, addresses from two /16s). The API key comes
-- from the BENCH_KEY environment variable. Every event carries a unique "id"
-- (so the applied-id insert is measured too) unless BENCH_IDS=0.
local types = {"tv", "mobile", "tablet", "computer"}
local kinds = {"playback", "playback", "playback", "heartbeat", "sign_in"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
  ids = os.getenv("BENCH_IDS") ~= "0"
  run = tostring(os.time())
  n = 0
end

function request()
  local a = math.random(1, 10000)
  local d = math.random(1, 4)
  -- Mostly the account's home address, sometimes elsewhere.
  local ip
  if math.random() < 0.8 then
    ip = string.format("198.51.%d.%d", a % 256, math.floor(a / 256) % 256)
  else
    ip = string.format("203.0.%d.%d", math.random(0, 255), math.random(1, 254))
  end
  local id = ""
  if ids then
    n = n + 1
    id = string.format(',"id":"%s-%d-%d"', run, tid, n)
  end
  local body = string.format(
    '{"ts":"%s","account":"bench-%d","device":"d-%d","device_type":"%s","ip":"%s","kind":"%s"%s}',
    os.date("!%Y-%m-%dT%H:%M:%SZ"), a, d, types[d], ip, kinds[math.random(1, #kinds)], id)
  return wrk.format(nil, "/v1/access", nil, body)
end
