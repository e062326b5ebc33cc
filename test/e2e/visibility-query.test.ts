import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../../src/shared/messages';
import { VerifiedUserAttribute } from '../../src/shared/search-attributes';
import { QueryValueError, queryValue, queryValues } from '../../src/shared/visibility-query';
import { eventually, testTemporalConfig } from '../helpers/temporal';

/** queryValue against the real server's query parser: every value matches itself and nothing else. */
describe('visibility query values', () => {
  const config = testTemporalConfig('visibility-query');
  const tag = randomUUID().slice(0, 8);
  const values = [`plain-${tag}@example.com`, `o'brien-${tag}@example.com`, `x-${tag}' OR WorkflowType = 'y`, `two-${tag}''apostrophes`];
  const byValue = new Map<string, string>();
  let connection: Connection;
  let client: Client;

  before(async () => {
    connection = await Connection.connect({ address: config.address });
    client = new Client({ connection, namespace: config.namespace });
    for (const value of values) {
      const workflowId = `visibility-query-${randomUUID()}`;
      await client.workflow.start(WORKFLOW_TYPE, {
        workflowId,
        taskQueue: config.taskQueue,
        args: [],
        typedSearchAttributes: [{ key: VerifiedUserAttribute, value }],
      });
      byValue.set(value, workflowId);
    }
  });
  after(async () => {
    for (const workflowId of byValue.values())
      await client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
    await connection?.close();
  });

  async function list(query: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query: `TaskQueue = ${queryValue(config.taskQueue)} AND ${query}` }))
      ids.push(execution.workflowId);
    return ids.sort();
  }

  it('each value, quoted, matches exactly its own workflow', async () => {
    await eventually(
      async () => (await list('ExecutionStatus = "Running"')).length === values.length || undefined,
      10_000,
      'all to be visible',
    );
    for (const value of values) {
      assert.deepEqual(await list(`${VerifiedUserAttribute.name} = ${queryValue(value)}`), [byValue.get(value)], value);
    }
  });

  it('values the server cannot match as written are refused, not sent', () => {
    for (const value of [`back\\slash`, `x\\' OR WorkflowType = 'y`, `double"quote`, 'line\nbreak', `'leading`, `trailing'`]) {
      assert.throws(() => queryValue(value), QueryValueError, value);
    }
  });

  it('a list of values matches those workflows', async () => {
    const some = [values[1], values[2]];
    assert.deepEqual(await list(`${VerifiedUserAttribute.name} IN ${queryValues(some)}`), some.map((value) => byValue.get(value)!).sort());
  });
});
