import { defineSurvey, type Survey } from '../definition.ts';
import { csp2019 } from './csp-2019.ts';

/** Every survey this deployment serves, validated at load (a broken definition stops start-up). */
export function loadSurveys(): Survey[] {
  return [defineSurvey(csp2019)];
}
