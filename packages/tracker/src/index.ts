export { createTracker, DEFAULTS, doNotTrack } from './create-tracker.js';
export { readScriptConfig } from './script-config.js';
export type { Properties, PropertyValue, TrackEvent, Tracker, TrackerConfig } from './types.js';
