// Answers as the page shows and compares them. Pure: tested without a browser.

export interface Ranked {
  label: string;
  probability: number;
}

/**
 * A predictions answer in either format the server speaks: a list of {class, probability}
 * (the default) or TorchServe's object of label -> probability. Highest first either way:
 * an object's integer-like keys (models without labels) come back in numeric order.
 */
export function parseAnswer(body: unknown): Ranked[] {
  let entries: Ranked[];
  if (Array.isArray(body)) {
    entries = body.map((e: unknown) => {
      const item = e as { class?: unknown; probability?: unknown };
      if (typeof item?.class !== 'string' || typeof item.probability !== 'number') throw new TypeError('an answer entry is not {class, probability}');
      return { label: item.class, probability: item.probability };
    });
  } else if (body && typeof body === 'object') {
    entries = Object.entries(body).map(([label, p]) => {
      if (typeof p !== 'number') throw new TypeError(`the probability of ${label} is not a number`);
      return { label, probability: p };
    });
  } else {
    throw new TypeError('the answer is neither a list nor an object');
  }
  return entries.sort((a, b) => b.probability - a.probability);
}

/** "n02123045 tabby, tabby cat" -> "tabby, tabby cat": the WordNet id means nothing to a reader. */
export function displayLabel(label: string): string {
  return label.replace(/^n\d{8}\s+/, '').replaceAll('_', ' ');
}

export interface Comparison {
  /** Largest |server - local| over the classes both answers hold. */
  maxDifference: number;
  /** The class where it is largest. */
  at: string | null;
  /** How many classes were compared. */
  compared: number;
  sameFirst: boolean;
}

export function compareAnswers(server: readonly Ranked[], local: readonly Ranked[]): Comparison {
  // Highest first, so of two classes with one name the first (as the server keeps it) counts.
  const mine = new Map<string, number>();
  for (const r of local) if (!mine.has(r.label)) mine.set(r.label, r.probability);
  let maxDifference = 0;
  let at: string | null = null;
  let compared = 0;
  for (const { label, probability } of server) {
    const other = mine.get(label);
    if (other === undefined) continue;
    compared++;
    const d = Math.abs(probability - other);
    if (d > maxDifference || at === null) {
      maxDifference = d;
      at = label;
    }
  }
  return { maxDifference, at, compared, sameFirst: server[0] !== undefined && server[0].label === local[0]?.label };
}
