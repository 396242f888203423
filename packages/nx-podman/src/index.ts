// Public plugin object: Nx loads createNodes/createNodesV2/createDependencies from here (see plugins/).
import { createNodes } from './plugins/create-nodes';

export { createNodes } from './plugins/create-nodes';
/** The same inference under the name Nx 23 looks for. */
export const createNodesV2 = createNodes;
export { createDependencies } from './plugins/create-dependencies';
export type { PodmanPluginOptions } from './plugins/plugin-options';
