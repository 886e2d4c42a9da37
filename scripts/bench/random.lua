-- wrk: every request a path drawn at random from a list (PATHS, one path a line; a path listed
-- twice is drawn twice as often); answers counted by status, printed at the end as "status N: COUNT".
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local threads = {}
local next_seed = 0
setup = function(thread)
  next_seed = next_seed + 1
  thread:set("seed", next_seed)
  threads[#threads + 1] = thread
end
init = function()
  math.randomseed(seed * 7919)
  statuses = {}
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function()
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d: %d\n", status, n)) end
end
