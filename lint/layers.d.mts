// Types of lint/layers.mjs for the TypeScript tests that read the table.
export declare const LAYERS: Record<string, string[]>;
export declare function layerOf(path: string): string | undefined;
export declare function mayImport(from: string, to: string): boolean;
export declare const layersPlugin: { rules: Record<string, unknown> };
export declare const DOORS: Record<string, string>;
export declare function bypassedDoor(from: string, target: string): string | undefined;
