"""Every change in how a running workflow behaves, named by the patch that guards it.

A run decides each one with ``workflow.patched(ID)`` at the point where the behaviour parts:
a run that already went past that point under the old code (its history has no marker) keeps
the old behaviour to its end; new runs, and continued-as-new runs, take the new one. The old
branch stays until no running workflow can need it; then ``workflow.deprecate_patch(ID)``,
and later the removal (ARCHITECTURE.md, "Changing a workflow safely").
"""

# Notices go out in the background (nobody's answer waits for an e-mail), failed deliveries
# are on the timeline and fall back to the next channel; timer-driven escalation does not
# wait for its read-model write, and reminders skipped by a late worker are recorded.
NOTICES_IN_BACKGROUND = "notices-in-background"

# Continue-as-new and the end of a run wait for background work too (a notice in flight, a
# child being started), not only for handlers: nothing is dropped between runs.
WAIT_FOR_BACKGROUND_WORK = "wait-for-background-work"

# The overdue watcher follows a deadline that moves (earlier or later) and flags a step once.
OVERDUE_FOLLOWS_DEADLINE = "overdue-follows-deadline"

# A LAR objection stops the change until an override, a withdrawal or a revision (rule 10).
LAR_OBJECTION_HOLDS = "lar-objection-holds"

# An intake accepted after the patient has left is done at once (the municipality has
# received them), as at a discharge, and opens no cooperation meeting: before, it stayed
# accepted and the transition never ended.
INTAKE_AFTER_DISCHARGE = "intake-after-discharge"

# A discharge date moved while a handover's step is still being opened (its record being
# written) becomes the step's deadline: before, the move found no open step and was lost.
DEADLINE_BEFORE_STEP_OPENS = "deadline-before-step-opens"
