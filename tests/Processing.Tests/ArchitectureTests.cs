using System.Diagnostics.CodeAnalysis;
using Mono.Cecil;

namespace DataStack.Processing.Tests;

/// <summary>
/// Processing's floor plan (docs/architecture.md), checked on the compiled assembly: every type reference between its
/// namespaces goes down the layers, never up or sideways, so no two folders can form a loop.
/// </summary>
public sealed class ArchitectureTests
{
    private const string Root = "DataStack.Processing";

    /// <summary>The layers, lowest first; a namespace may reference only namespaces of lower layers.</summary>
    public static IReadOnlyList<string[]> Layers { get; } =
    [
        ["Text", "Telemetry"],
        ["Database"],
        ["Jobs", "Datasets"],
        ["Ingest.Copying"],
        ["Ingest.Csv", "Ingest.Columns"],
        ["Ingest.Receiving"],
        ["Ingest", "Profiles", "Transforms", "PythonJobs"],
        ["Api"],
        [""], // DataStack.Processing itself: start-up settings and failures; Program composes everything.
    ];

    [Fact]
    public void EveryNamespaceOfProcessingIsInALayer()
    {
        // Arrange
        var known = Layers.SelectMany(layer => layer).Select(Qualify).ToHashSet();

        // Act
        var dependencies = ReadDependencies();
        var namespaces = dependencies.Keys.Concat(dependencies.Values.SelectMany(d => d.Keys)).Distinct();

        // Assert: a new folder must be given its place.
        Assert.Empty(namespaces.Where(ns => !known.Contains(ns)).Order());
    }

    [Fact]
    public void NoNamespaceReferencesItsOwnLayerOrAHigherOne()
    {
        // Arrange
        var layerOf = Layers.SelectMany((layer, index) => layer.Select(name => (Qualify(name), index))).ToDictionary();

        // Act
        var violations = (
            from source in ReadDependencies()
            from target in source.Value
            where layerOf.ContainsKey(source.Key) && layerOf.ContainsKey(target.Key) && layerOf[target.Key] >= layerOf[source.Key]
            select $"{source.Key} -> {target.Key} (via {string.Join(", ", target.Value.Order().Take(4))})").ToList();

        // Assert
        Assert.True(violations.Count == 0, "References against the floor plan (docs/architecture.md):\n" + string.Join('\n', violations));
    }

    private static string Qualify(string name) => name.Length == 0 ? Root : $"{Root}.{name}";

    /// <summary>Namespace → referenced namespace → the types referenced, from signatures, attributes and method bodies.</summary>
    private static Dictionary<string, Dictionary<string, HashSet<string>>> ReadDependencies()
    {
        using var module = ModuleDefinition.ReadModule(typeof(Program).Assembly.Location);
        var graph = new Dictionary<string, Dictionary<string, HashSet<string>>>();
        foreach (var type in module.GetTypes())
        {
            var source = NamespaceOf(type);
            if (!IsOurs(source))
            {
                continue; // Program (global namespace, the composition root) and generated code outside our namespaces.
            }

            foreach (var reference in References(type))
            {
                var target = NamespaceOf(reference);
                if (IsOurs(target) && target != source)
                {
                    var edges = graph.TryGetValue(source, out var found) ? found : graph[source] = [];
                    (edges.TryGetValue(target, out var types) ? types : edges[target] = []).Add(reference.Name);
                }
            }
        }

        return graph;
    }

    private static bool IsOurs([NotNullWhen(true)] string? ns) => ns is not null && (ns == Root || ns.StartsWith(Root + ".", StringComparison.Ordinal));

    /// <summary>A nested type (a state machine, a closure, a Log class) belongs to its outermost type's namespace.</summary>
    private static string? NamespaceOf(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type.Namespace;
    }

    private static IEnumerable<TypeReference> References(TypeDefinition type)
    {
        IEnumerable<TypeReference> Of(TypeReference? reference)
        {
            switch (reference)
            {
                case null or GenericParameter:
                    yield break;
                case GenericInstanceType generic:
                    foreach (var inner in Of(generic.ElementType).Concat(generic.GenericArguments.SelectMany(Of)))
                    {
                        yield return inner;
                    }

                    yield break;
                case TypeSpecification specification:
                    foreach (var inner in Of(specification.ElementType))
                    {
                        yield return inner;
                    }

                    yield break;
                default:
                    yield return reference;
                    yield break;
            }
        }

        IEnumerable<TypeReference> OfAttributes(ICustomAttributeProvider provider) =>
            provider.CustomAttributes.SelectMany(attribute => Of(attribute.AttributeType));

        IEnumerable<TypeReference> OfMethod(MethodReference method) =>
            Of(method.DeclaringType).Concat(Of(method.ReturnType)).Concat(method.Parameters.SelectMany(p => Of(p.ParameterType)))
                .Concat(method is GenericInstanceMethod generic ? generic.GenericArguments.SelectMany(Of) : []);

        var found = Of(type.BaseType)
            .Concat(type.Interfaces.SelectMany(i => Of(i.InterfaceType)))
            .Concat(OfAttributes(type))
            .Concat(type.Fields.SelectMany(f => Of(f.FieldType).Concat(OfAttributes(f))))
            .Concat(type.Properties.SelectMany(p => Of(p.PropertyType).Concat(OfAttributes(p))))
            .Concat(type.Events.SelectMany(e => Of(e.EventType)));
        foreach (var method in type.Methods)
        {
            found = found.Concat(OfMethod(method)).Concat(OfAttributes(method));
            if (!method.HasBody)
            {
                continue;
            }

            found = found.Concat(method.Body.Variables.SelectMany(v => Of(v.VariableType)));
            foreach (var instruction in method.Body.Instructions)
            {
                found = found.Concat(instruction.Operand switch
                {
                    TypeReference operand => Of(operand),
                    MethodReference operand => OfMethod(operand),
                    FieldReference operand => Of(operand.DeclaringType).Concat(Of(operand.FieldType)),
                    _ => [],
                });
            }
        }

        return found;
    }
}
