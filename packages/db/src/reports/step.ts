// A step of a funnel, or a retention's start/return event: which interactions it matches.
import type { Params } from '../stats/sql.js';

export interface Step {
  /** Any of these actions (absent: any action). */
  actions?: readonly string[];
  /** Exact page, or every page starting with `value` when `prefix`. */
  page?: { value: string; prefix: boolean };
  role?: string;
}

/** The step's condition on interactions aliased `e`, its values added to `p`. */
export function stepCondition(p: Params, step: Step): string {
  const parts: string[] = [];
  if (step.actions) parts.push(`e.action = ANY(${p.add(step.actions, 'text[]')})`);
  if (step.role !== undefined) parts.push(`e.role::text = ${p.add(step.role)}`);
  if (step.page)
    parts.push(
      step.page.prefix
        ? `starts_with(e.page, ${p.add(step.page.value)})`
        : `e.page = ${p.add(step.page.value)}`,
    );
  return parts.length === 0 ? 'true' : `(${parts.join(' AND ')})`;
}

/** The condition of a step that must also match the report's filter (role, page), when there is one. */
export function filteredStepCondition(p: Params, filter: Omit<Step, 'actions'> | undefined) {
  const f = filter ? stepCondition(p, filter) : null;
  return (step: Step) => (f ? `(${stepCondition(p, step)} AND ${f})` : stepCondition(p, step));
}
