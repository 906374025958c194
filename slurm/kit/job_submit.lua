--[[
 Egret: hold every new job of a managed partition until egret-quotad admits it.

 A job submitted to a partition listed in the managed-partitions file is created held
 (priority 0, so slurmctld cannot start it before quotad decides), marked in its admin_comment
 (which users cannot change) and told why in its comment. egret-quotad reads the queue through
 libslurm, grants a durable admission lease, then releases the job with a priority from its
 tenant's fairshare factor; while it waits, quotad writes the reason into the comment
 (squeue -o %k, scontrol show job, egretctl why JOBID).

 The managed partitions come from tenants.toml (partitions with managed = true); the admin
 kit writes them one per line to MANAGED_FILE (slurm/kit/install-egret). This script does no
 more than read that small file: it never blocks slurmctld.
--]]

local MANAGED_FILE = "@MANAGED_FILE@"
local HELD_MARKER = "egret:held"

local function managed_partitions()
	local set = {}
	local f = io.open(MANAGED_FILE, "r")
	if f == nil then
		return set
	end
	for line in f:lines() do
		local p = line:match("^%s*([^#%s]+)")
		if p ~= nil then
			set[p] = true
		end
	end
	f:close()
	return set
end

-- The partition a job will run in: the one it asked for, or the default partition.
local function requested_partitions(job_desc, part_list)
	if job_desc.partition ~= nil then
		return job_desc.partition
	end
	for _, part in pairs(part_list or {}) do
		if part.flag_default == 1 then
			return part.name
		end
	end
	return nil
end

local function first_managed(partitions, managed)
	if partitions == nil then
		return nil
	end
	for p in string.gmatch(partitions, "[^,]+") do
		if managed[p] then
			return p
		end
	end
	return nil
end

local function hold(job_desc, partition)
	job_desc.priority = 0
	job_desc.admin_comment = HELD_MARKER
	job_desc.comment = "egret: waiting for egret-quotad to admit it"
end

function slurm_job_submit(job_desc, part_list, submit_uid)
	local p = first_managed(requested_partitions(job_desc, part_list), managed_partitions())
	if p ~= nil then
		hold(job_desc, p)
		slurm.log_debug("egret: holding a new job of uid %u in managed partition %s", submit_uid, p)
	end
	return slurm.SUCCESS
end

local NO_VAL = slurm.NO_VAL or 4294967294

-- Users may not release an egret-held job themselves: slurmctld records a hold made at
-- submission as the user's own (JobHeldUser), which `scontrol release` would lift until
-- egret-quotad turns it into an admin hold. Only root (egret-quotad, admins) changes the
-- priority of a pending managed job. A pending job moved into a managed partition is held the
-- same way, so moving is no way around admission.
function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	if modify_uid == 0 then
		return slurm.SUCCESS
	end
	local managed = managed_partitions()
	local pending = (tonumber(job_rec.job_state) or -1) % 256 == 0
	local held_by_egret = job_rec.admin_comment == HELD_MARKER and pending
	if held_by_egret and job_desc.priority ~= nil and job_desc.priority ~= NO_VAL then
		slurm.log_user("egret: job %u waits for egret-quotad to admit it (see: egretctl why %u); it cannot be released or re-prioritised by hand",
			job_rec.job_id, job_rec.job_id)
		return slurm.ERROR
	end
	if job_desc.partition ~= nil then
		local p = first_managed(job_desc.partition, managed)
		if p ~= nil and first_managed(job_rec.partition, managed) == nil then
			hold(job_desc, p)
			slurm.log_info("egret: job %u moved into managed partition %s by uid %u: held", job_rec.job_id, p, modify_uid)
		end
	end
	return slurm.SUCCESS
end

slurm.log_info("egret: job_submit.lua loaded (managed partitions from %s)", MANAGED_FILE)
return slurm.SUCCESS
