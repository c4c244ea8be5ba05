// The server's answer beside this browser's, in one sentence or two: for ranked classes the
// largest probability difference, for boxes the labels and the largest box and score
// differences, for class maps the share of cells given the same class.

import { compareAnswers, displayLabel, type Ranked } from './answers.js';
import { sameClassShare } from './class-map.js';
import { compareDetections } from './detections.js';
import type { ModelAnswer } from './model-answer.js';

// Two significant digits for the tiny differences WebGPU rounding leaves, rather than 0.0000.
const difference = (d: number) => (d === 0 ? '0' : d < 0.001 ? d.toPrecision(2) : d.toFixed(4));

function el(tag: 'strong' | 'span', className?: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The comparison of the server's answer with this browser's, in `box`; its numbers also in `box`'s data attributes. */
export function showComparison(box: HTMLElement, server: ModelAnswer, local: ModelAnswer): void {
  if (server.kind === 'ranked' && local.kind === 'ranked') compareRanked(box, server.ranked, local.ranked);
  else if (server.kind === 'detections' && local.kind === 'detections') {
    const c = compareDetections(server.detections, local.detections);
    const labels = server.detections.map((d) => d.label).join(', ') || 'none';
    box.replaceChildren(
      el('strong', undefined, c.sameLabels ? `Same objects: ${labels}. ` : `Different objects: ${labels} on the server, ${local.detections.map((d) => d.label).join(', ') || 'none'} here. `),
      document.createTextNode(
        !c.paired
          ? ''
          : c.maxBoxDifference === 0 && c.maxScoreDifference === 0
            ? 'The same boxes and scores.'
            : `Largest box difference: ${c.maxBoxDifference.toFixed(2)} px; largest score difference: ${difference(c.maxScoreDifference)}.`,
      ),
    );
    Object.assign(box.dataset, { sameLabels: String(c.sameLabels), maxBoxDifference: String(c.maxBoxDifference), maxScoreDifference: String(c.maxScoreDifference) });
    box.hidden = false;
  } else if (server.kind === 'classMap' && local.kind === 'classMap') {
    const same = sameClassShare(server.map, local.map);
    box.replaceChildren(el('strong', undefined, same === null ? 'The two class maps differ in size.' : `Same class on ${(same * 100).toFixed(2)}% of the map.`));
    box.dataset['sameClassShare'] = String(same);
    box.hidden = false;
  }
}

function compareRanked(box: HTMLElement, server: Ranked[], local: Ranked[]): void {
  const c = compareAnswers(server, local);
  const first = server[0] ? displayLabel(server[0].label) : '?';
  box.replaceChildren(
    el('strong', undefined, c.sameFirst ? `Same first class: ${first}. ` : `Different first classes: ${first} on the server, ${local[0] ? displayLabel(local[0].label) : '?'} here. `),
    document.createTextNode(`Largest probability difference over ${c.compared} classes: `),
    Object.assign(el('span', 'difference', difference(c.maxDifference)), { id: 'max-difference' }),
    document.createTextNode(c.maxDifference === 0 ? ' (the same probabilities).' : c.at ? ` (${displayLabel(c.at)}).` : '.'),
  );
  box.dataset['maxDifference'] = String(c.maxDifference);
  box.hidden = false;
}
