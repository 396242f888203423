import type { ContainerUpdater, ContainerUpdateRequest, ContainerUpdateResult } from '../core/ports';

/**
 * A {@link ContainerUpdater} for tests of the live updater's coordination: it records each request, calls `installed`
 * unless the scripted result is `refused`, and answers with the next scripted result (`updated` when none is left).
 */
export class FakeContainerUpdater implements ContainerUpdater {
  readonly requests: ContainerUpdateRequest[] = [];
  private readonly script: ContainerUpdateResult[];

  constructor(script: ContainerUpdateResult[] = []) {
    this.script = [...script];
  }

  async update(request: ContainerUpdateRequest): Promise<ContainerUpdateResult> {
    this.requests.push(request);
    const result = this.script.shift() ?? { status: 'updated' };
    if (result.status !== 'refused') await request.installed();
    return result;
  }
}
