#!/usr/bin/env bash
# Start a lab container (if it is not running) and wait until its systemd has booted.
# Right after `docker start`, systemctl cannot reach systemd's bus yet: that is waited out.
# A container whose systemd exited during boot is started again, at most 3 times.
set -u
container=$1
timeout=${2:-180}
starts=0
deadline=$(( $(date +%s) + timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" != true ]; then
        if [ "$starts" -ge 3 ]; then
            echo "$container exited during boot $starts times" >&2
            docker logs --tail 20 "$container" >&2
            exit 1
        fi
        docker start "$container" >/dev/null || exit 1
        starts=$((starts + 1))
        continue
    fi
    state=$(docker exec "$container" systemctl is-system-running --wait 2>/dev/null)
    case "$state" in
        running|degraded) echo "$state"; exit 0 ;;
    esac
    sleep 0.5
done
echo "$container did not finish booting within ${timeout}s (last state: ${state:-none})" >&2
exit 1
