/**
 * The seam between alert rules and privilege baselines. Rules of kind `privilege_outside_baseline`
 * ask this function which of a sync's grants an instance's baseline does not allow.
 *
 * Baselines (the approved privileges per instance) are a separate feature. Until that feature is
 * merged there is no baseline for any instance, so this function returns [] and those rules never
 * fire. Wiring it is this one function: look up the instance's baseline and, for each change, return
 * the grants (grantsOf(change.privilegeDiff)) it does not cover; return [] when the instance has no
 * baseline. Nothing else in the alert pipeline changes.
 */
import type { AppDeps } from '../../deps.js';
import type { AlertChange, Grant } from './rules.js';

/** A change whose grants the instance's baseline does not allow. */
export interface BaselineViolation {
  changeLogId: number;
  grants: Grant[];
}

export async function privilegesOutsideBaseline(deps: AppDeps, instanceId: number, changes: AlertChange[]): Promise<BaselineViolation[]> {
  void deps;
  void instanceId;
  void changes;
  return [];
}
