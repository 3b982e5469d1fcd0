/** What a model answers, as JSON: the gate's reply and ship's commit plan. */

/**
 * The JSON value in a model's answer. Models often wrap JSON in a markdown fence (```json … ```)
 * although they were asked not to; that fence is taken off. Throws what JSON.parse throws.
 */
export function parseModelJson(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  return JSON.parse(fenced?.[1] ?? text);
}
