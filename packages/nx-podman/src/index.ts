// Public plugin object: Nx loads createNodes/createNodesV2/createDependencies from here (see plugins/).
export {};
