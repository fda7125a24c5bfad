#!/usr/bin/env bash
# nest-scheduled-pretrain.sh: one scheduled attempt of a long pretraining run, safe to start at any time
# (cron, a systemd timer, by hand):
#
#   * it resumes: `nest pretrain` continues from the newest checkpoint under exp_manager.exp_dir by default,
#     so every attempt picks up where the last one stopped (a crash, a preemption, a maintenance window);
#   * it never runs two live copies: on this host an flock on the logs folder turns away a second attempt
#     at once; across hosts the job's own RunLock (<exp_dir>/<name>/.lock, heartbeat + TTL) refuses to start
#     while another attempt's driver is alive, and lets a new attempt take over once a dead one's heartbeat
#     is older than the TTL;
#   * it keeps one log per attempt: LOGS/attempt-<UTC start>-<pid>.log (the complete spark-submit or
#     bin/nest output), LOGS/latest.log -> the newest, and LOGS/attempts.tsv with one line per attempt:
#     start, end, exit code, meaning, log file.
#
# usage: nest-scheduled-pretrain.sh --logs DIR [--submit CMD] -- SUBMIT_ARGS...
#
#   --logs DIR     where attempt logs go (created)
#   --submit CMD   what runs the job (default: deploy/submit/nest-submit.sh next to this script; bin/nest for
#                  a single machine without a cluster)
#   SUBMIT_ARGS    the submitter's arguments, passed unchanged; they must contain the pretrain command and
#                  exp_manager.exp_dir=..., e.g.
#                  -- --target yarn --deploy-mode cluster --config /etc/nest/nest-small.conf -- pretrain \
#                     model.train_ds.manifest_filepath=hdfs:///corpus/train.json exp_manager.exp_dir=hdfs:///nest/runs
#
# Exit codes (attempts.tsv's meaning column says the same); they follow `nest pretrain`'s own (README "Exit
# codes"), which this script reads from the submitter's exit status (client deploy mode, bin/nest and
# Kubernetes driver pods pass the driver's code on):
#    0  the job finished: trainer.max_steps reached (a later attempt resumes, finds the run complete, and
#       finishes at once)
#    1  the job failed (see the attempt's log), or the attempt was stopped (SIGTERM, SIGINT, SIGHUP: passed on
#       to the submitter) before the job could save; the next scheduled attempt resumes from the last checkpoint
#    2  usage or configuration error (of this script or of the job): retrying does not help, fix the settings
#    3  the job stopped early on purpose after saving a checkpoint (SIGTERM passed on by this script, or
#       exp_manager.max_time_per_run): the next scheduled attempt resumes from there
#   75  another attempt is live (this host's flock, or the job exited 75: its RunLock refused the run folder):
#       nothing done
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

logs="" submit="$HERE/../submit/nest-submit.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) [[ $# -ge 2 ]] || { echo "nest-scheduled-pretrain: --logs needs a folder" >&2; exit 2; }; logs=$2; shift 2 ;;
    --submit) [[ $# -ge 2 ]] || { echo "nest-scheduled-pretrain: --submit needs a command" >&2; exit 2; }; submit=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "nest-scheduled-pretrain: unknown option $1 (the submitter's arguments go after --)" >&2; exit 2 ;;
  esac
done
[[ -n "$logs" ]] || { echo "nest-scheduled-pretrain: --logs DIR is required" >&2; exit 2; }
has_pretrain=0 has_exp_dir=0
for a in "$@"; do
  [[ "$a" == pretrain ]] && has_pretrain=1
  [[ "$a" == exp_manager.exp_dir=* ]] && has_exp_dir=1
done
(( has_pretrain )) || { echo "nest-scheduled-pretrain: the arguments run no 'pretrain' command" >&2; exit 2; }
(( has_exp_dir )) || { echo "nest-scheduled-pretrain: give exp_manager.exp_dir=... (attempts resume from it)" >&2; exit 2; }

mkdir -p "$logs" || exit 2
tsv="$logs/attempts.tsv"
[[ -s "$tsv" ]] || printf 'start\tend\texit\tmeaning\tlog\n' > "$tsv"
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log="$logs/attempt-$(date -u +%Y%m%dT%H%M%SZ)-$$.log"

record() { # exit meaning
  printf '%s\t%s\t%s\t%s\t%s\n' "$start" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" "$log" >> "$tsv"
  echo "nest-scheduled-pretrain: attempt $start: exit $1 ($2); log $log" >&2
  exit "$1"
}

# one attempt per host at a time (released by the kernel when this process ends, however it ends)
exec 9> "$logs/.scheduler.lock"
if ! flock -n 9; then
  log="(none)"
  record 75 "another attempt is running on this host (flock $logs/.scheduler.lock)"
fi

ln -sfn "$(basename "$log")" "$logs/latest.log"
{
  echo "# nest-scheduled-pretrain attempt $start on $(hostname) (pid $$)"
  printf '# command:'; printf ' %q' "$submit" "$@"; echo
} > "$log"
# the submitter inherits the flock: it stays held while any process of the attempt lives
"$submit" "$@" >> "$log" 2>&1 &
child=$!
# shellcheck disable=SC2317  # called from the traps below
stopped() { # a stop (systemctl stop, Ctrl-C, kill): pass it on as SIGTERM (the job then saves), wait, record
  trap - TERM INT HUP
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  local code=$?
  if [[ $code -eq 3 ]]; then
    record 3 "stopped by SIG$1 after the job saved a checkpoint; the next attempt resumes from it"
  fi
  record 1 "stopped by SIG$1; the next attempt resumes from the last checkpoint"
}
trap 'stopped TERM' TERM
trap 'stopped INT' INT
trap 'stopped HUP' HUP
wait "$child"
rc=$?
trap - TERM INT HUP
case "$rc" in
  0) record 0 "finished" ;;
  2) record 2 "usage or configuration error" ;;
  3) record 3 "stopped early with a checkpoint (SIGTERM or exp_manager.max_time_per_run); the next attempt resumes from it" ;;
  75) record 75 "another attempt is live: the run folder's lock was refused (see the log)" ;;
  *) record 1 "failed with exit code $rc; the next attempt resumes from the last checkpoint" ;;
esac
